/* fuzz_profile.c -- libFuzzer target for the reader of a profile's changelog
 * messages (profiles.topic): hf_profiles_take, which must refuse or take
 * any bytes a topic may hold (truncated, padded, hostile, foreign).
 *
 * The input is read as a message for two stores of one declaration (one
 * worker of one, worker 0 of two) and one of another declaration.  Whatever
 * is taken must be whole: its host found aside, re-encoded and read back
 * into a fresh store as the same row; a message of the other declaration
 * is never taken; a refusal leaves the store empty.  Any broken property
 * aborts with a message; ASan and UBSan watch the rest.
 *
 * Build: make build/fuzz/fuzz_profile.  Seeds: tests/fuzz/seeds/profile/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "engine/profile.h"

static hf_field fields[] = {{0, HF_FIELD_SUM, 0}, {8, HF_FIELD_BYTES, 16}};
static hf_schema schema = {fields, 2, 24};

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_profile: %s\n", what);
    abort();
}

/* Read data into a store of signature sig as worker w of n: its verdict,
 * and the host taken (if any) checked whole. */
static int take_one(const uint8_t *data, size_t size, const char *sig, int w, int n)
{
    hf_profiles *p = hf_profiles_new("profile", sig, &schema, 100);
    hf_profiles_keep_aside(p);
    char why[512] = "";
    int rc = hf_profiles_take(p, data, size, NULL, w, n, why, sizeof why);
    hf_profiles *aside = hf_profiles_aside(p);
    hf_profile_stats st;
    hf_profiles_stats(p, &st);
    if (rc < 0 && !why[0]) fail("a refusal without a reason");
    if (rc != HF_PROFILE_TAKEN && st.aside) fail("a host kept from a message not taken");
    if (rc == HF_PROFILE_TAKEN) {
        if (st.aside != 1 || hf_profiles_nrows(p) != 0) fail("a message taken is not one host aside");
        const uint8_t *row = NULL;
        for (uint32_t i = 0; i < hf_profiles_nrows(aside) && !row; i++) row = hf_profiles_row(aside, i);
        if (!row) fail("the host taken is not found");
        hf_buf m;
        hf_buf_init(&m, 128);
        hf_profiles_encode(aside, row, 0, &m);
        hf_profiles *q = hf_profiles_new("profile", sig, &schema, 100);
        if (hf_profiles_take(q, m.data, m.len, row, 0, 1, why, sizeof why) != HF_PROFILE_TAKEN)
            fail("a host taken does not read back");
        const uint8_t *back = hf_profiles_find(q, row);
        if (!back || memcmp(back + 16, row + 16, 4) != 0 ||
            memcmp(back + 24, row + 24, hf_profiles_row_size(q) - 24) != 0)
            fail("a host taken reads back different");
        hf_profiles_free(q);
        hf_buf_release(&m);
    }
    hf_profiles_free(p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int one = take_one(data, size, "sig", 0, 1);
    int two = take_one(data, size, "sig", 0, 2);
    if (one < 0 && two >= 0) fail("refused for one worker, not for another");
    if (one != HF_PROFILE_TAKEN && two == HF_PROFILE_TAKEN) fail("taken by a worker of two, not by one of one");
    if (take_one(data, size, "another", 0, 1) == HF_PROFILE_TAKEN) fail("taken by another declaration");
    return 0;
}
