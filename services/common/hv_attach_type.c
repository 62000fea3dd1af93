/* Content-type sniffing of documents; see hv_attach_type.h. */
#include "hv_attach_type.h"

#include <stdbool.h>
#include <string.h>

/* The tail a PDF's "%%EOF" may be followed by (line ends, a few blanks). */
#define S_PDF_TAIL 1024

static bool s_pdf(const uint8_t *d, size_t len)
{
    /* "%PDF-1.7": the header, a version digit, a dot, a digit. */
    if (len < 8 + 5 || memcmp(d, "%PDF-", 5) != 0 || d[5] < '1' || d[5] > '9' || d[6] != '.' ||
        d[7] < '0' || d[7] > '9')
        return false;
    size_t from = len > S_PDF_TAIL ? len - S_PDF_TAIL : 8;
    for (size_t i = len - 5 + 1; i-- > from;) {
        if (memcmp(d + i, "%%EOF", 5) != 0)
            continue;
        /* Only white space may follow the last %%EOF. */
        for (size_t j = i + 5; j < len; j++)
            if (d[j] != '\r' && d[j] != '\n' && d[j] != ' ' && d[j] != '\t' && d[j] != '\0')
                return false;
        return true;
    }
    return false;
}

static bool s_jpeg(const uint8_t *d, size_t len)
{
    if (len < 8 || d[0] != 0xFF || d[1] != 0xD8 || d[2] != 0xFF)
        return false;
    /* The first segment: APPn, DQT, DHT, SOFn or COM, with a length that
     * fits in the file. */
    uint8_t m = d[3];
    if (!((m >= 0xE0 && m <= 0xEF) || m == 0xDB || m == 0xC4 || (m >= 0xC0 && m <= 0xCF) ||
          m == 0xFE))
        return false;
    size_t seg = ((size_t)d[4] << 8) | d[5];
    if (seg < 2 || 4 + seg > len - 2)
        return false;
    /* EOI at the end; some writers pad with zero bytes after it. */
    size_t end = len;
    while (end > 4 + seg && d[end - 1] == 0x00)
        end--;
    return end >= 4 + seg + 2 && d[end - 2] == 0xFF && d[end - 1] == 0xD9;
}

static uint32_t s_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static bool s_png(const uint8_t *d, size_t len)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    /* Signature, then IHDR: length 13, the type, width, height, depth,
     * colour type, compression 0, filter 0, interlace 0 or 1, its CRC. */
    if (len < 8 + 8 + 13 + 4 || memcmp(d, sig, 8) != 0)
        return false;
    const uint8_t *h = d + 8;
    if (s_be32(h) != 13 || memcmp(h + 4, "IHDR", 4) != 0)
        return false;
    uint32_t width = s_be32(h + 8), height = s_be32(h + 12);
    uint8_t depth = h[16], colour = h[17];
    if (width == 0 || height == 0 || width > 0x7FFFFFFFu || height > 0x7FFFFFFFu)
        return false;
    bool depth_ok;
    switch (colour) {
    case 0:
        depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
        break;
    case 3:
        depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8;
        break;
    case 2:
    case 4:
    case 6:
        depth_ok = depth == 8 || depth == 16;
        break;
    default:
        depth_ok = false;
    }
    return depth_ok && h[18] == 0 && h[19] == 0 && h[20] <= 1;
}

const char *hv_attach_sniff(const uint8_t *data, size_t len)
{
    if (data == NULL)
        return NULL;
    if (s_pdf(data, len))
        return "application/pdf";
    if (s_jpeg(data, len))
        return "image/jpeg";
    if (s_png(data, len))
        return "image/png";
    return NULL;
}
