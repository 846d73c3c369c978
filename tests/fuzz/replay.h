/* SPDX-License-Identifier: MIT
 * replay.h - what every fuzz target does when built without libFuzzer
 * (SW_FUZZ_STANDALONE): run LLVMFuzzerTestOneInput on each corpus file named on the
 * command line. That is how CTest runs the targets. */
#ifndef SW_FUZZ_REPLAY_H
#define SW_FUZZ_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0 when every file was read and run, 1 when one could not be opened. */
static inline int fuzz_replay(int argc, char **argv)
{
    static uint8_t buf[1 << 20];
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}

#endif
