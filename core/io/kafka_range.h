/* kafka_range.h -- copy a time range of a Kafka topic (see kafka_range.c). */
#ifndef HF_KAFKA_RANGE_H
#define HF_KAFKA_RANGE_H

#include <stdint.h>
#include <stdio.h>

#include "conf/config.h"

/* Copy the messages of topic, one per line, to out: in every partition from
 * the first message stamped at or after from_ms minus an hour to the end of
 * the partition as it is now.  Returns the number copied, or -1 with a
 * message in err. */
long hf_kafka_copy_range(const hf_config *cfg, const char *topic, int64_t from_ms,
                         FILE *out, char *err, size_t errlen);

#endif
