/* SPDX-License-Identifier: MIT
 * migrations.h - the numbered schema migrations, embedded from
 * src/store/migrations/NNN_name.sql at build time (sorted, ending with version 0). */
#ifndef SW_MIGRATIONS_H
#define SW_MIGRATIONS_H

struct sw_migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct sw_migration sw_migrations[];

#endif
