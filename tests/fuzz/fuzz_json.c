/* Fuzz target: the JSON reader with positions. Whatever it accepts, every
 * value's position lies inside the text; whatever it refuses is explained
 * at a position inside (or just past) the text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t s_lines(const uint8_t *d, size_t n)
{
    size_t lines = 1;
    for (size_t i = 0; i < n; i++)
        lines += d[i] == '\n';
    return lines;
}

static void s_walk(const hv_json *j, size_t lines)
{
    if (j->line < 1 || j->line > lines || j->col < 1)
        abort();
    if (j->type == HV_JSON_STRING && (j->str == NULL || strlen(j->str) != j->len))
        abort();
    for (size_t i = 0; i < j->n; i++) {
        if ((j->type == HV_JSON_OBJECT) != (j->items[i]->key != NULL))
            abort();
        s_walk(j->items[i], lines);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hv_json *root = NULL;
    hv_json_error err;
    hv_err rc = hv_json_parse((const char *)data, size, &root, &err);
    size_t lines = s_lines(data, size);
    if (rc == HV_OK)
        s_walk(root, lines);
    else if (err.line < 1 || err.line > lines || err.text[0] == '\0')
        abort();
    hv_json_free(&root);
    return 0;
}
