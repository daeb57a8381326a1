/*
 * replay_main.c - the API fuzzer (api_fuzz.c) without libFuzzer: runs
 * every file of the directories (or the files) named on the command line
 * through LLVMFuzzerTestOneInput, one after another, as a TAP test, so that the
 * checked-in seed corpus (tests/fuzz/corpus/) and any crash file libFuzzer
 * leaves run in every build, gcc's included. Each input starts and stops
 * its own runtime (WEFT_FUZZ_RESTART=1), so weft_shutdown() checks it for
 * abandoned fibers and unfreed channels. A failing input abort()s with
 * its op, arguments and code on stderr, after its name.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ninputs;

static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("Bail out! cannot open %s\n", path);
        exit(1);
    }
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(buf, n);
    printf("ok %d - %s\n", ++ninputs, path);
    fflush(stdout);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        printf("Bail out! cannot stat %s\n", path);
        exit(1);
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d) {
        printf("Bail out! cannot open %s\n", path);
        exit(1);
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names || !names[n]) {
            printf("Bail out! out of memory\n");
            exit(1);
        }
        snprintf(names[n++], len, "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n; i++) {
        run_file(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    setenv("WEFT_FUZZ_RESTART", "1", 0);
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++)
        run_path(argv[i]);
    if (ninputs == 0) {
        printf("Bail out! no inputs\n");
        return 1;
    }
    printf("1..%d\n", ninputs);
    return 0;
}
