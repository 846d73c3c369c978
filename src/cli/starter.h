/* SPDX-License-Identifier: MIT
 * starter.h - the commented spec that "swarm init" writes: one template and one swarm
 * that run as they are, with every other field of docs/spec.md shown commented out. */
#ifndef SW_CLI_STARTER_H
#define SW_CLI_STARTER_H

extern const char sw_starter_spec[];

#endif
