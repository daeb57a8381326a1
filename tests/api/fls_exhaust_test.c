/*
 * fls_exhaust_test.c - fiber-local keys run out at WEFT_KEYS_MAX per
 * process. Its own executable: keys are never freed, so no other case may
 * share the process (the cases here run in order and depend on it).
 */
#include "weft.h"

#include "tap.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

static weft_key keys[WEFT_KEYS_MAX];
static atomic_int errors;

static void *all_keys_own_values(void *arg)
{
    uintptr_t tag = (uintptr_t)arg;
    for (int k = 0; k < WEFT_KEYS_MAX; k++) {
        void *v = (void *)1;
        if (weft_key_get(keys[k], &v) != 0 || v != NULL)
            atomic_fetch_add(&errors, 1);
        if (weft_key_set(keys[k], (void *)(tag << 16 | ((uintptr_t)k + 1))) != 0)
            atomic_fetch_add(&errors, 1);
    }
    for (int y = 0; y < 10; y++)
        weft_yield();
    for (int k = 0; k < WEFT_KEYS_MAX; k++) {
        void *v = NULL;
        if (weft_key_get(keys[k], &v) != 0 || v != (void *)(tag << 16 | ((uintptr_t)k + 1)))
            atomic_fetch_add(&errors, 1);
    }
    weft_key extra = {.id = 0xabcd};
    if (weft_key_create(&extra, NULL) != -EAGAIN || extra.id != 0xabcd)
        atomic_fetch_add(&errors, 1);
    return NULL;
}

/* Exactly WEFT_KEYS_MAX keys can be created, all distinct; the next create
 * is -EAGAIN with the output untouched, before init, while running, from a
 * fiber, and after a restart; and all the keys work side by side in many
 * fibers at once. */
TEST(keys_run_out_at_max)
{
    (void)tap_seed(); /* nothing random here */
    int made = 0;
    for (int i = 0; i < WEFT_KEYS_MAX + 10; i++) {
        weft_key k = {.id = 0xabcd};
        int rc = weft_key_create(&k, NULL);
        if (rc == 0) {
            if (made < WEFT_KEYS_MAX)
                keys[made] = k;
            made++;
        } else {
            EXPECT_EQ(rc, -EAGAIN);
            EXPECT_EQ(k.id, 0xabcd);
        }
    }
    CHECK_EQ(made, WEFT_KEYS_MAX);
    int dups = 0;
    for (int i = 0; i < WEFT_KEYS_MAX; i++)
        for (int j = i + 1; j < WEFT_KEYS_MAX; j++)
            dups += keys[i].id == keys[j].id;
    EXPECT_EQ(dups, 0);

    for (int run = 0; run < 2; run++) {
        CHECK_OK(weft_init(&(weft_config){.workers = 2}));
        weft_key k = {.id = 0xabcd};
        EXPECT_EQ(weft_key_create(&k, NULL), -EAGAIN);
        EXPECT_EQ(k.id, 0xabcd);
        weft_fiber f[50];
        for (uintptr_t i = 0; i < 50; i++)
            CHECK_OK(weft_spawn(&f[i], all_keys_own_values, (void *)(i + 1), NULL));
        for (int i = 0; i < 50; i++)
            CHECK_OK(weft_join(f[i], NULL));
        EXPECT_EQ(atomic_load(&errors), 0);
        CHECK_OK(weft_shutdown());
    }
}

TAP_MAIN()
