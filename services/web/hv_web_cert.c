/* Self-signed certificates; see hv_web_cert.h. */
#include "hv_web_cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hv_crypto.h"

static hv_err s_write(const char *dir, const char *name, const gnutls_datum_t *d, int mode,
                      hv_errmsg *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return errno == EEXIST ? hv_fail(e, HV_EEXIST, "%s exists; not overwritten", path)
                               : hv_fail(e, HV_EIO, "cannot create %s: %s", path,
                                         strerror(errno));
    ssize_t n = write(fd, d->data, d->size);
    int ok = n == (ssize_t)d->size && fsync(fd) == 0;
    close(fd);
    return ok ? HV_OK : hv_fail(e, HV_EIO, "cannot write %s", path);
}

static int s_san(gnutls_x509_crt_t crt, const char *name)
{
    unsigned char ip[4];
    if (inet_pton(AF_INET, name, ip) == 1)
        return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, 4,
                                                    GNUTLS_FSAN_APPEND);
    return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name,
                                                (unsigned)strlen(name), GNUTLS_FSAN_APPEND);
}

hv_err hv_web_cert_self_signed(const char *dir, const char *host, hv_errmsg *e)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t kpem = {NULL, 0}, cpem = {NULL, 0};
    hv_err err = HV_OK;
    char cpath[4096], kpath[4096];
    snprintf(cpath, sizeof cpath, "%s/cert.pem", dir);
    snprintf(kpath, sizeof kpath, "%s/key.pem", dir);
    if (access(cpath, F_OK) == 0 || access(kpath, F_OK) == 0)
        return hv_fail(e, HV_EEXIST, "%s already holds cert.pem or key.pem; not overwritten",
                       dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return hv_fail(e, HV_EIO, "cannot create %s: %s", dir, strerror(errno));
    const char *cn = host != NULL ? host : "localhost";
    uint8_t serial[16];
    hv_random(serial, sizeof serial);
    serial[0] &= 0x7f; /* a positive number */
    time_t now = time(NULL);
    int rc = gnutls_global_init();
    if (rc >= 0)
        rc = gnutls_x509_privkey_init(&key);
    if (rc >= 0)
        rc = gnutls_x509_privkey_generate(
            key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
    if (rc >= 0)
        rc = gnutls_x509_crt_init(&crt);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_version(crt, 3);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_activation_time(crt, now - 300);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_expiration_time(crt, now + 365 * 86400);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn,
                                           (unsigned)strlen(cn));
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key(crt, key);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
    if (rc >= 0)
        rc = s_san(crt, "localhost");
    if (rc >= 0)
        rc = s_san(crt, "127.0.0.1");
    if (rc >= 0 && host != NULL && strcmp(host, "localhost") != 0 &&
        strcmp(host, "127.0.0.1") != 0)
        rc = s_san(crt, host);
    if (rc >= 0)
        rc = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
    if (rc >= 0)
        rc = gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &kpem);
    if (rc >= 0)
        rc = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &cpem);
    if (rc < 0) {
        err = hv_fail(e, HV_ECRYPTO, "GnuTLS: %s", gnutls_strerror(rc));
        goto done;
    }
    if ((err = s_write(dir, "key.pem", &kpem, 0600, e)) == HV_OK &&
        (err = s_write(dir, "cert.pem", &cpem, 0644, e)) != HV_OK)
        unlink(kpath);
done:
    if (kpem.data != NULL) {
        hv_memzero(kpem.data, kpem.size);
        gnutls_free(kpem.data);
    }
    gnutls_free(cpem.data);
    if (crt != NULL)
        gnutls_x509_crt_deinit(crt);
    if (key != NULL)
        gnutls_x509_privkey_deinit(key);
    gnutls_global_deinit();
    return err;
}

hv_err hv_web_cert_check(const char *cert, const char *key, hv_errmsg *e)
{
    gnutls_certificate_credentials_t cred;
    int rc = gnutls_certificate_allocate_credentials(&cred);
    if (rc < 0)
        return hv_fail(e, HV_ECONFIG, "TLS: %s", gnutls_strerror(rc));
    rc = gnutls_certificate_set_x509_key_file(cred, cert, key, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(cred);
    if (rc < 0)
        return hv_fail(e, HV_ECONFIG, "[web] tls_cert %s and tls_key %s: %s", cert, key,
                       gnutls_strerror(rc));
    return HV_OK;
}
