/* Fuzz target: the haven command's parser (cli/hv_cli_args.c: getopt_long
 * over a command's declared options) and its tables for people
 * (cli/hv_cli_out.c: widths, cutting UTF-8 cells with an ellipsis).
 * Input: one byte, the terminal's width (0: none); then words separated by
 * NUL bytes, which are the command line and, three to a row, the cells of a
 * table. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_WORDS_MAX 64

static int s_run(const opts *o)
{
    (void)o;
    return 0;
}

static const hv_cli_cmd s_cmd = {"fuzz", NULL, "[--json] [--config=FILE] [--key=FILE] [A [B [C]]]",
                                 "A command to fuzz the parser with.", "config= key= json", 0, 3,
                                 "", s_run};

/* The catalogue's part of the parser's interface (cli/hv_cli_cmds.c). */
const char *hv_cli_cmd_name(const hv_cli_cmd *cmd)
{
    (void)cmd;
    return "haven fuzz";
}

void hv_cli_print_help(FILE *f, const hv_cli_cmd *cmd)
{
    fprintf(f, "usage: haven fuzz %s\n", cmd->synopsis);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        init = 1;
        /* No profile; the tables go nowhere (standard error stays
         * libFuzzer's, for its reports). */
        setenv("HOME", "/nonexistent", 1);
        unsetenv("XDG_CONFIG_HOME");
        unsetenv("HAVEN_PROFILE");
        unsetenv("HAVEN_CONFIG");
        unsetenv("HAVEN_KEY");
        if (freopen("/dev/null", "w", stdout) == NULL)
            abort();
    }
    if (size < 1 || size > 4096)
        return 0;
    char width[8];
    snprintf(width, sizeof width, "%u", data[0]);
    setenv("COLUMNS", width, 1);
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *words[S_WORDS_MAX + 2];
    int n = 0;
    words[n++] = "fuzz";
    for (char *p = text; p < text + size - 1 && n <= S_WORDS_MAX; p += strlen(p) + 1)
        words[n++] = p;
    words[n] = NULL;

    char *argv[S_WORDS_MAX + 2];
    memcpy(argv, words, sizeof argv);
    opts o;
    int rc = hv_cli_parse(&s_cmd, n, argv, &o);
    assert(rc == -1 || rc == 0 || rc == EXIT_USAGE);
    if (rc == -1) {
        /* Only declared options, and no more arguments than declared. */
        assert(o.n_args <= 3);
        for (int i = 0; i < o.count; i++)
            assert(strcmp(o.names[i], "config") == 0 || strcmp(o.names[i], "key") == 0 ||
                   strcmp(o.names[i], "json") == 0);
    }

    static const char *const head[] = {"ONE", "TWO", "THREE"};
    hv_cli_table *t = hv_cli_table_new(3, head);
    for (int i = 1; i + 2 < n; i += 3)
        hv_cli_table_add(t, (const char *const *)&words[i]);
    hv_cli_table_print(t);
    hv_cli_table_free(&t);
    free(text);
    return 0;
}
