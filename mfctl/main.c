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
} mf__cmd;

static const mf__cmd mf__cmds[] = {
    {"up", mf_ctl_up},
    {"status", mf_ctl_status},
    {"show", mf_ctl_show},
    {"dlq", mf_ctl_dlq},
    {"retry", mf_ctl_retry},
    {"webhooks", mf_ctl_webhooks},
    {"check-config", mf_ctl_check_config},
    {"config-example", mf_ctl_config_example},
};

static const char mf__usage[] =
    "usage: mfctl [--config FILE] [--<setting>=<value>...] <command> [args]\n"
    "\n"
    "commands:\n"
    "  up [--workers image=2,video=1,doc=1] [--grace SECONDS]\n"
    "                        run a fleet here: an embedded redis (unless redis_url is set), the\n"
    "                        dispatcher and the workers, restarted when they die; Ctrl-C lets\n"
    "                        workers finish their job (up to --grace, default 30 s) and stops\n"
    "  status                per lane: queued, in flight, dead jobs, live workers; files by "
    "status\n"
    "  show [--json] <path|id>\n"
    "                        one record (path as in the inbox, a file in it, or an id)\n"
    "  dlq [lane]            dead jobs: attempts exhausted or failed for good\n"
    "  retry <id|path>...    queue failed files again (attempts start over)\n"
    "  webhooks [list|log [N]|dlq|replay <entry>...|--all|enable <url>]\n"
    "                        webhook endpoints, attempts and dead deliveries (mf-notifier)\n"
    "  check-config          validate and print the effective configuration\n"
    "  config-example [FILE] every setting with its default and help\n"
    "\n"
    "Settings: the INI file (--config FILE or MF_CONFIG), then MF_<NAME> environment variables,\n"
    "then --<name>=<value> flags. With redis_url empty, the fleet's redis is the one `mfctl up`\n"
    "runs on <state_dir>/redis.sock.\n";

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
    for (size_t i = 0; i < sizeof(mf__cmds) / sizeof(mf__cmds[0]); i++) {
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
        fputs(mf__usage, asked ? stdout : stderr);
        rc = asked ? 0 : MF_CTL_EXIT_USAGE;
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
