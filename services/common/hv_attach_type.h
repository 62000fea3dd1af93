/* The media type of a document, found from its content (issue 21): a
 * caseworker's file named report.pdf that is an HTML page is not a PDF.
 * Only three types travel with a case: PDF, JPEG and PNG. A file's name
 * is never consulted. */
#ifndef HV_ATTACH_TYPE_H
#define HV_ATTACH_TYPE_H

#include <stddef.h>
#include <stdint.h>

/* Returns "application/pdf", "image/jpeg" or "image/png" when `data` is a
 * whole document of that type by its magic bytes and a sane structure (a
 * PDF: "%PDF-d.d" and "%%EOF" in its last KiB; a JPEG: SOI, a marker
 * segment, EOI at the end; a PNG: its signature and a valid IHDR chunk
 * first), or NULL. The string returned is static. */
const char *hv_attach_sniff(const uint8_t *data, size_t len);

/* What a caseworker is told the accepted types are, for error messages. */
#define HV_ATTACH_TYPES_TEXT "PDF, JPEG or PNG"

#endif
