/* SPDX-License-Identifier: MIT
 * fuzz_spec.c - libFuzzer target for spec files (the YAML the CLI reads): load, check,
 * order, and look up field positions; nothing may crash, hang or read out of bounds.
 * Built without libFuzzer (SW_FUZZ_STANDALONE), main() replays the corpus files given
 * as arguments: that is how CTest runs it. */
#include "cli/spec.c"
#include "cli/spec_yaml.c"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sw_spec s;
    sw_spec_init(&s);
    if (sw_spec_load_text(&s, "f.yaml", (const char *)data, size) == 0)
        sw_spec_order(&s);
    for (size_t i = 0; i < s.nobjects; i++) {
        sw_spec_field_pos(&s.objects[i], "template.limits.memory");
        sw_spec_field_pos(&s.objects[i], "memory");
    }
    sw_spec_free(&s);
    return 0;
}

#ifdef SW_FUZZ_STANDALONE
#include "replay.h"

int main(int argc, char **argv)
{
    return fuzz_replay(argc, argv);
}
#endif
