/* `haven message send|list|read` (issue 21): the thread between the
 * referring intake and the provider that accepted the case, at either
 * worker, over its control socket (message.send, message.list,
 * message.read: docs/CONTROL.md, services/common/hv_casemsg.h). The list
 * is printed for people here, from the worker's JSON: each message with
 * who wrote it and when, its text, and its marks in words ("delivered
 * 10:02, read 10:05"). Exit codes as for every haven command: 0 done, 1
 * refused (the message names the HV_ code), 2 usage, 3 system. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_cli.h"
#include "hv_file.h"
#include "hv_json.h"
#include "hv_msg.h"

#define S_TIMEOUT_MS 10000

/* The time of a mark for people: "HH:MM" on the day of the message
 * ("YYYY-MM-DDTHH:MM:SSZ" both), else "YYYY-MM-DD HH:MM". */
static void s_mark_time(const char *mark, const char *msg, char *out, size_t cap)
{
    if (strlen(mark) < 16)
        snprintf(out, cap, "%s", mark);
    else if (strncmp(mark, msg, 10) == 0)
        snprintf(out, cap, "%.5s", mark + 11);
    else
        snprintf(out, cap, "%.10s %.5s", mark, mark + 11);
}

/* Prints `s` with control characters other than a tab as '?' (line
 * breaks too, unless `lines`: then each line is indented), so that text
 * from the other side cannot move the terminal's cursor or change its
 * colours. */
static void s_put(const char *s, bool lines)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '\n' && lines)
            fputs(p[1] != '\0' ? "\n   " : "", stdout);
        else if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            fputc('?', stdout);
        else
            fputc(*p, stdout);
    }
}

/* A message's text, indented, each line on its own. */
static void s_print_text(const char *s)
{
    fputs("   ", stdout);
    s_put(s, true);
    fputc('\n', stdout);
}

static void s_print_list(json_t *items)
{
    if (json_array_size(items) == 0) {
        printf("no messages about this case yet\n");
        return;
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
#define S_STR(key)                                                                             \
    (json_string_value(json_object_get(it, key)) ? json_string_value(json_object_get(it, key)) \
                                                 : "")
        const char *at = S_STR("at"), *from = S_STR("from");
        printf("%s%lld. from the %s (%s), %.10s %.5s UTC\n", i ? "\n" : "",
               (long long)json_integer_value(json_object_get(it, "n")), from, S_STR("by"), at,
               strlen(at) >= 16 ? at + 11 : "");
        s_print_text(S_STR("text"));
        char d[24] = "", r[24] = "";
        if (S_STR("delivered_at")[0] != '\0')
            s_mark_time(S_STR("delivered_at"), at, d, sizeof d);
        if (S_STR("read_at")[0] != '\0')
            s_mark_time(S_STR("read_at"), at, r, sizeof r);
        if (S_STR("failed")[0] != '\0') {
            fputs("   not delivered: ", stdout);
            s_put(S_STR("failed"), false);
            fputc('\n', stdout);
        } else if (d[0] == '\0')
            printf("   not delivered yet\n");
        else if (r[0] == '\0')
            printf("   delivered %s, not read yet\n", d);
        else
            printf("   delivered %s, read %s\n", d, r);
#undef S_STR
    }
}

/* The message of `haven message send`: TEXT, or the file of --file. */
static int s_send(const opts *o)
{
    const char *file = hv_cli_opt(o, "file");
    if ((file == NULL) == (o->n_args < 2))
        return hv_cli_usage_error(o, "give the message as TEXT or --file=FILE, not both");
    uint8_t *buf = NULL;
    size_t len = 0;
    if (file != NULL) {
        hv_errmsg e = {""};
        hv_err err = hv_file_read(file, HV_JSON_TEXT_MAX, &buf, &len, &e);
        if (err != HV_OK)
            return hv_cli_report("message file", err, &e);
    }
    const char *text = file != NULL ? (const char *)buf : o->args[1];
    if (file == NULL)
        len = strlen(text);
    json_t *t = json_stringn(text, len);
    free(buf);
    if (t == NULL) {
        fprintf(stderr, "haven: the message is not UTF-8 text (HV_EINVAL)\n");
        return EXIT_REFUSED;
    }
    json_t *args = json_pack("{s:s, s:o}", "id", o->positional, "text", t);
    json_t *reply = NULL;
    int rc = hv_cli_ask(o, "message.send", args, S_TIMEOUT_MS, NULL, &reply);
    if (rc != 0)
        return rc;
    if (hv_cli_opt(o, "json") != NULL)
        hv_cli_print_json(reply);
    else
        fputs(json_string_value(json_object_get(reply, "text")), stdout);
    json_decref(reply);
    return 0;
}

int hv_cli_message(const opts *o)
{
    const char *sub = o->cmd->sub;
    if (strcmp(sub, "send") == 0)
        return s_send(o);
    json_t *args = json_pack("{s:s}", "id", o->positional);
    if (strcmp(sub, "read") == 0) {
        char *end = NULL;
        unsigned long long n = strtoull(o->args[1], &end, 10);
        if (o->args[1][0] < '1' || o->args[1][0] > '9' || *end != '\0' || n > HV_CASE_SEQ_MAX) {
            json_decref(args);
            return hv_cli_usage_error(o, "N must be a message's number (1, 2, ...), not '%s'",
                                      o->args[1]);
        }
        json_object_set_new(args, "n", json_integer((json_int_t)n));
    }
    char cmd[32];
    snprintf(cmd, sizeof cmd, "message.%s", sub);
    json_t *reply = NULL;
    int rc = hv_cli_ask(o, cmd, args, S_TIMEOUT_MS, NULL, &reply);
    if (rc != 0)
        return rc;
    if (hv_cli_opt(o, "json") != NULL)
        hv_cli_print_json(reply);
    else if (strcmp(sub, "list") == 0)
        s_print_list(json_object_get(json_object_get(reply, "result"), "items"));
    else
        fputs(json_string_value(json_object_get(reply, "text")), stdout);
    json_decref(reply);
    return 0;
}
