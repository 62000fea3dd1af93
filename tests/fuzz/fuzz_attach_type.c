/* Fuzz target: the content-type sniffer of documents (hv_attach_type.h).
 * Whatever it accepts must start with the magic bytes of the type it
 * names; nothing else may come out. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv_attach_type.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact copy, so that a read past the end is the sanitizer's to see. */
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    const char *type = hv_attach_sniff(copy, size);
    if (type != NULL) {
        bool pdf = strcmp(type, "application/pdf") == 0 && size >= 5 && memcmp(copy, "%PDF-", 5) == 0;
        bool jpeg = strcmp(type, "image/jpeg") == 0 && size >= 3 && copy[0] == 0xFF &&
                    copy[1] == 0xD8 && copy[size - 1] != 0x01;
        bool png = strcmp(type, "image/png") == 0 && size >= 8 && memcmp(copy, "\x89PNG", 4) == 0;
        if (!pdf && !jpeg && !png)
            abort();
    }
    free(copy);
    return 0;
}
