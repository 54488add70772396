/* mfctl: the admin CLI. Reads the configuration like every mediafleet binary (INI <
 * MF_* environment < --name=value flags), then runs one subcommand, each in its own file. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mf/log.h"
#include "mfctl.h"

#ifndef MF_VERSION
#define MF_VERSION "dev"
#endif

typedef struct mf__cmd {
    const char *name;
    int (*run)(mf_ctl *ctx, int argc, char **argv);
    const char *synopsis; /* after "mfctl <name>" */
    const char *help;     /* what it does, for `mfctl <name> --help` */
} mf__cmd;

static const mf__cmd mf__cmds[] = {
    {"up", mf_ctl_up, "[--workers auto|image=2,video=1,doc=1] [--grace SECONDS]",
     "run a fleet here: an embedded redis (unless redis_url is set), the dispatcher and the\n"
     "workers, restarted when they die. SIGHUP reloads (as `mfctl reload`). Ctrl-C lets workers\n"
     "finish their job for up to --grace seconds (30), then they hand it back, then stops.\n"},
    {"status", mf_ctl_status, "[--json]",
     "per lane: jobs queued, in flight, dead, paused, live workers (per host); running jobs\n"
     "with their progress; stalled jobs (worker gone) and when they are reclaimed; files by\n"
     "status. --json prints one object for scripts (schema in the README).\n"},
    {"show", mf_ctl_show, "[--json] <path|id>",
     "one record (path as in the inbox, a file in it, or an id)\n"},
    {"scale", mf_ctl_scale, "LANE=N|auto... [--host NAME]",
     "change the workers of a running `mfctl up` within 2 s: new workers start, surplus ones\n"
     "finish (or hand back) their job and exit. LANE=auto returns the lane to the automatic\n"
     "plan. The plan is kept in redis per host (default: this one) and survives a restart.\n"},
    {"pause", mf_ctl_pause, "LANE...",
     "workers of the lane, on every host, take no new job; running jobs finish; uploads are\n"
     "still recorded and queued\n"},
    {"resume", mf_ctl_resume, "LANE...", "undo pause\n"},
    {"reload", mf_ctl_reload, "[--host NAME]",
     "the host's `mfctl up` reads its configuration again and replaces the dispatcher and every\n"
     "worker with the binaries installed now, one at a time, the new process first: a code\n"
     "update that neither stops nor loses a job in flight\n"},
    {"dlq", mf_ctl_dlq, "[--json] [LANE]", "dead jobs: attempts exhausted or failed for good\n"},
    {"retry", mf_ctl_retry, "<id|path>... | --all [LANE]",
     "queue failed files again (attempts start over); --all: every failed file (of a lane)\n"},
    {"reprocess", mf_ctl_reprocess, "<id|path>... | --lane LANE | --all",
     "run done files again (after a settings change or an upgrade): new outputs replace the\n"
     "old ones in one step, the record keeps its id\n"},
    {"webhooks", mf_ctl_webhooks, "[list | log [N] | dlq | replay <entry>...|--all | enable <url>]",
     "webhook endpoints with their state, every delivery attempt, dead deliveries; replay\n"
     "sends dead deliveries again (same webhook-id), enable turns a disabled endpoint back on\n"},
    {"check-config", mf_ctl_check_config, "", "validate and print the effective configuration\n"},
    {"config-example", mf_ctl_config_example, "[FILE]",
     "every setting with its default and help\n"},
};
#define MF__NCMDS (sizeof(mf__cmds) / sizeof(mf__cmds[0]))

static void mf__usage(FILE *out)
{
    fputs("usage: mfctl [--config FILE] [--<setting>=<value>...] <command> [args]\n\ncommands:\n",
          out);
    for (size_t i = 0; i < MF__NCMDS; i++)
        fprintf(out, "  %s %s\n", mf__cmds[i].name, mf__cmds[i].synopsis);
    fputs("\n`mfctl <command> --help` says more. Settings: the INI file (--config FILE or\n"
          "MF_CONFIG), then MF_<NAME> environment variables, then --<name>=<value> flags. With\n"
          "redis_url empty, the fleet's redis is the one `mfctl up` runs on\n"
          "<state_dir>/redis.sock.\n",
          out);
}

/* `mfctl <command> --help` (or -h anywhere in its arguments). */
static int mf__cmd_help(const mf__cmd *cmd, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: mfctl %s %s\n\n%s", cmd->name, cmd->synopsis, cmd->help);
            return 1;
        }
    }
    return 0;
}

/* The config flags mf_config_load() consumed: what was in orig and is no longer in argv. */
static void mf__forwarded(mf_ctl *ctx, char **orig, int norig, char **argv, int argc)
{
    ctx->fwd = calloc((size_t)norig + 1, sizeof(char *));
    if (ctx->fwd == NULL)
        abort();
    for (int i = 1; i < norig; i++) {
        int kept = 0;
        for (int k = 1; k < argc && !kept; k++)
            kept = argv[k] == orig[i];
        if (!kept)
            ctx->fwd[ctx->nfwd++] = orig[i];
    }
}

static const mf__cmd *mf__find(const char *name)
{
    for (size_t i = 0; i < MF__NCMDS; i++) {
        if (strcmp(mf__cmds[i].name, name) == 0)
            return &mf__cmds[i];
    }
    return NULL;
}

int main(int argc, char **argv)
{
    mf_ctl ctx;
    mf_err err;
    char **orig = NULL;
    const mf__cmd *cmd;
    int norig;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    mf_log_init("mfctl", "info");
    norig = argc;
    orig = malloc(((size_t)argc + 1) * sizeof(char *));
    if (orig == NULL)
        abort();
    memcpy(orig, argv, ((size_t)argc + 1) * sizeof(char *));
    rc = mf_config_load(&ctx.cfg, NULL, &argc, argv, &err);
    cmd = argc > 1 ? mf__find(argv[1]) : NULL;
    if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
        printf("mfctl %s\n", MF_VERSION);
        rc = 0;
        goto out;
    }
    if (cmd == NULL) {
        int asked = argc > 1 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
                                 strcmp(argv[1], "-h") == 0);

        if (argc > 1 && !asked)
            mf_ctl_errorf("unknown command '%s'", argv[1]);
        mf__usage(asked ? stdout : stderr);
        rc = asked ? 0 : MF_CTL_EXIT_USAGE;
        goto out;
    }
    if (mf__cmd_help(cmd, argc - 1, argv + 1)) {
        rc = 0;
        goto out;
    }
    if (rc < 0 && cmd->run != mf_ctl_config_example) {
        mf_ctl_errorf("configuration invalid: %s", err.msg);
        rc = MF_CTL_EXIT_USAGE;
        goto out;
    }
    mf_log_init(NULL, ctx.cfg.log_level);
    /* the INI file as an absolute MF_CONFIG, so the children mfctl starts read it too */
    if (ctx.cfg.config_file != NULL)
        setenv("MF_CONFIG", ctx.cfg.config_file, 1);
    mf__forwarded(&ctx, orig, norig, argv, argc);
    rc = cmd->run(&ctx, argc - 1, argv + 1);
out:
    free(ctx.fwd);
    free(orig);
    mf_config_close(&ctx.cfg);
    return rc;
}
