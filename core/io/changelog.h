/* changelog.h -- profiles.topic on Kafka: the producer that the workers
 * write their profiles' changes with, and the reader that takes the topic
 * to its end when partitions are assigned (engine/changelog.h is the
 * table the engine sees). */
#ifndef HF_IO_CHANGELOG_H
#define HF_IO_CHANGELOG_H

#include <stddef.h>

#include "conf/config.h"
#include "engine/changelog.h"

/* The changelog of cfg->profiles_topic: NULL with a message in err. */
hf_changelog *hf_kafka_changelog_new(const hf_config *cfg, char *err, size_t errlen);
/* After the last flush. */
void hf_kafka_changelog_free(hf_changelog *cl);

#endif
