/* SPDX-License-Identifier: MIT
 * apply_cmd.c - "swarm apply" reads every spec file given, checks them all before
 * sending anything, then PUTs each template and swarm in order (templates, then
 * parents before children) and prints what the daemon did with each. The first
 * refusal is shown at its place in the spec and stops the run; what was applied
 * before it stays applied. "swarm init" writes the starter spec. */
#include "cli/apply_cmd.h"

#include "cli/output.h"
#include "cli/spec.h"
#include "cli/starter.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPLY_PATH_MAX 1024
#define INIT_FILE_NAME "swarm.yaml"

/* Prints what the daemon did with o: "swarm/media created", or with --dry-run what
 * it would do: "swarm/media would be created". */
static void apply_print(const struct sw_spec_object *o, const json_t *reply, int dry_run)
{
    const char *action = json_string_value(json_object_get(reply, "action"));
    int changes = action && strcmp(action, "unchanged") != 0;

    printf("%s/%s %s%s\n", sw_spec_kind_name(o->kind), o->name,
           dry_run && changes ? "would be " : "", action ? action : "applied");
    fflush(stdout);
}

/* Prints a refusal of o at the place in its spec of the field the daemon named. */
static void apply_print_refusal(struct sw_cli *cli, const struct sw_spec_object *o,
                                const char *method, const char *path, long status,
                                const json_t *reply)
{
    const json_t *error = json_object_get(reply, "error");
    const char *code = json_string_value(json_object_get(error, "code"));
    const char *message = json_string_value(json_object_get(error, "message"));
    const char *field = json_string_value(json_object_get(error, "field"));
    struct sw_spec_pos at = sw_spec_field_pos(o, field);

    if (status == 405 || (code && strcmp(code, "no_route") == 0)) {
        fprintf(stderr, "swarm: swarmd at %s does not serve %s %s: is it older than swarm?\n",
                cli->endpoint.url, method, path);
        return;
    }
    if (status >= 500 || code == NULL) {
        fprintf(stderr, "swarm: HTTP %ld from %s to %s %s%s%s\n", status, cli->endpoint.url, method,
                path, code ? ": " : "", code ? code : "");
        return;
    }
    fprintf(stderr, "%s:%d:%d: %s \"%s\": %s\n", o->file, at.line, at.column,
            sw_spec_kind_name(o->kind), o->name, message ? message : code);
}

/* PUTs one object; on success appends the reply to replies (-o json) or prints it. */
static int apply_one(struct sw_cli *cli, struct sw_client *client, const struct sw_spec_object *o,
                     int dry_run, json_t *replies)
{
    struct sw_buf path;
    json_t *reply = NULL;
    long status = 0;
    int rc;

    sw_buf_init(&path, APPLY_PATH_MAX);
    rc = sw_buf_appendf(&path, "/v1/%ss/", sw_spec_kind_name(o->kind));
    if (rc == 0)
        rc = sw_client_escape(&path, o->name);
    if (rc == 0 && dry_run)
        rc = sw_buf_appendstr(&path, "?dry_run=1");
    if (rc == 0)
        rc = sw_client_request(client, "PUT", path.data, o->body, 0, &status, &reply);
    if (rc)
        goto out;
    if (status >= 200 && status < 300 && json_is_object(reply)) {
        if (cli->json)
            rc = json_array_append(replies, reply) ? SW_ENOMEM : 0;
        else
            apply_print(o, reply, dry_run);
    } else {
        apply_print_refusal(cli, o, "PUT", path.data, status, reply);
        rc = SW_EINTERNAL;
    }
out:
    json_decref(reply);
    sw_buf_free(&path);
    return rc;
}

/* Reads every -f file into spec and orders it. 0, SW_EINVAL (usage error in
 * cli->args.error), SW_EBAD_FIELD (spec errors, printed), SW_ENOMEM. */
static int apply_load(struct sw_cli *cli, struct sw_spec *spec)
{
    const char *file;
    int pos = 0, nfiles = 0, rc = 0;

    while (rc != SW_ENOMEM && (file = sw_args_next(&cli->args, "-f", &pos)) != NULL) {
        nfiles++;
        rc = sw_spec_load_file(spec, file);
    }
    if (nfiles == 0)
        return sw_args_fail(&cli->args, "apply needs at least one -f FILE");
    if (rc == SW_ENOMEM)
        return rc;
    if (spec->nerrors == 0 && (rc = sw_spec_order(spec)) == SW_ENOMEM)
        return rc;
    if (spec->nerrors == 0)
        return 0;
    sw_spec_print_errors(spec, stderr);
    fprintf(stderr, "swarm: nothing was applied\n");
    return SW_EBAD_FIELD;
}

static int apply_run(struct sw_cli *cli)
{
    int dry_run = sw_args_has(&cli->args, "--dry-run");
    struct sw_client *client;
    json_t *replies = json_array();
    struct sw_spec spec;
    size_t done = 0;
    int rc;

    sw_spec_init(&spec);
    rc = replies ? apply_load(cli, &spec) : SW_ENOMEM;
    if (rc == 0)
        rc = sw_cli_client(cli, &client);
    for (; rc == 0 && done < spec.nobjects; done++)
        rc = apply_one(cli, client, &spec.objects[done], dry_run, replies);
    if (cli->json && (rc == 0 || done > 0))
        sw_output_json(stdout, replies);
    if (rc == SW_EINTERNAL && done == 2)
        fprintf(stderr, "swarm: stopped there; the object before it %s applied\n",
                dry_run ? "would be" : "was");
    else if (rc == SW_EINTERNAL && done > 2)
        fprintf(stderr, "swarm: stopped there; the %zu objects before it %s applied\n", done - 1,
                dry_run ? "would be" : "were");
    else if (rc == SW_EINTERNAL && done == 1 && spec.nobjects > 1)
        fprintf(stderr, "swarm: stopped there; nothing was applied\n");
    json_decref(replies);
    sw_spec_free(&spec);
    return rc == SW_EBAD_FIELD ? SW_EXIT_USAGE : sw_cli_exit(cli, rc);
}

/* ---- init ---------------------------------------------------------------------- */

/* Writes all of text to fd. 0 or an errno value. */
static int write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Creates dir when it does not exist (one level, as mkdir does). 0 or an errno. */
static int ensure_dir(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    return mkdir(dir, 0777) == 0 ? 0 : errno;
}

static int init_print_json(const char *path)
{
    json_t *reply = json_pack("{s:s}", "path", path);

    if (reply == NULL)
        return SW_ENOMEM;
    sw_output_json(stdout, reply);
    json_decref(reply);
    return 0;
}

static int init_run(struct sw_cli *cli)
{
    const char *dir = cli->args.noperands ? cli->args.operands[0] : NULL;
    int force = sw_args_has(&cli->args, "--force");
    size_t dir_len = dir ? strlen(dir) : 0;
    char path[4096];
    int fd, err;

    while (dir_len > 1 && dir[dir_len - 1] == '/')
        dir_len--;
    if (dir_len + sizeof INIT_FILE_NAME + 1 > sizeof path)
        return sw_cli_exit(cli, sw_args_fail(&cli->args, "DIR is too long"));
    snprintf(path, sizeof path, "%.*s%s" INIT_FILE_NAME, (int)dir_len, dir ? dir : "",
             dir_len == 0 || dir[dir_len - 1] == '/' ? "" : "/");
    if (dir && (err = ensure_dir(dir)) != 0) {
        fprintf(stderr, "swarm: cannot create directory %s: %s\n", dir, strerror(err));
        return SW_EXIT_ERROR;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0666);
    if (fd < 0 && errno == EEXIST) {
        fprintf(stderr, "swarm: %s exists; add --force to overwrite it\n", path);
        return SW_EXIT_USAGE;
    }
    err = fd < 0 ? errno : write_all(fd, sw_starter_spec, strlen(sw_starter_spec));
    if (fd >= 0 && close(fd) != 0 && err == 0)
        err = errno;
    if (err) {
        fprintf(stderr, "swarm: cannot write %s: %s\n", path, strerror(err));
        return SW_EXIT_ERROR;
    }
    if (cli->json)
        return sw_cli_exit(cli, init_print_json(path));
    else
        printf("wrote %s\nnext: swarm apply -f %s\n", path, path);
    return SW_EXIT_OK;
}

static const struct sw_flag apply_flags[] = {
    {"-f", "FILE", "a spec file, - for standard input; repeat for more"},
    {"--dry-run", NULL, "show what would change, change nothing"},
    {NULL, NULL, NULL},
};

static const struct sw_flag init_flags[] = {
    {"--force", NULL, "overwrite an existing swarm.yaml"},
    {NULL, NULL, NULL},
};

const struct sw_command sw_apply_commands[] = {
    {{"init", "[DIR]", 0, 1, init_flags},
     "write a commented starter spec to DIR/swarm.yaml (DIR: .)",
     "Creates DIR when it does not exist. Refuses to overwrite an existing file\n"
     "(exit 2) unless --force is given.\n",
     init_run},
    {{"apply", "-f FILE...", 0, 0, apply_flags},
     "create or update the templates and swarms of spec files",
     "Every file is read and checked first; an error in any of them is printed as\n"
     "FILE:LINE:COLUMN: KIND \"NAME\": MESSAGE and nothing is sent (exit 2). Then each\n"
     "template, then each swarm (parents before children), is sent with\n"
     "PUT /v1/templates/NAME or PUT /v1/swarms/NAME, and one line is printed for\n"
     "each: KIND/NAME created, updated or unchanged. The first object the daemon\n"
     "refuses is shown at its place in the spec and ends the run (exit 5); the\n"
     "objects before it stay applied. With -o json, the daemon's replies as one\n"
     "JSON array. The format of spec files is in docs/spec.md.\n",
     apply_run},
    {{NULL, NULL, 0, 0, NULL}, NULL, NULL, NULL},
};
