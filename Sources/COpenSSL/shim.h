#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <string.h>

/* Macros Swift cannot call, as functions. */

static inline int COpenSSL_setMinimumTLS12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

static inline void COpenSSL_hardenOptions(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
}

/* A memory BIO that reports "retry" (not EOF) when empty. */
static inline BIO *COpenSSL_newMemoryBIO(void) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio != NULL) {
        BIO_set_mem_eof_return(bio, -1);
    }
    return bio;
}

static inline long COpenSSL_setSessionIDContext(SSL_CTX *ctx, const char *name) {
    return SSL_CTX_set_session_id_context(ctx, (const unsigned char *)name, (unsigned int)strlen(name));
}

/* ALPN: the server's protocol list (wire format) is `arg`, owned by the caller for the SSL_CTX's lifetime.
 * A client that offers ALPN without any of our protocols gets a fatal no_application_protocol alert
 * (RFC 7301 §3.2); a client that offers none is accepted. */
static inline int COpenSSL_alpnSelect(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                                      const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl;
    const unsigned char *server = (const unsigned char *)arg;
    unsigned int serverLength = (unsigned int)strlen((const char *)server);
    if (SSL_select_next_proto((unsigned char **)out, outlen, server, serverLength, in, inlen)
        == OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static inline void COpenSSL_setALPN(SSL_CTX *ctx, const unsigned char *wireProtocols) {
    SSL_CTX_set_alpn_select_cb(ctx, COpenSSL_alpnSelect, (void *)wireProtocols);
}

/* The first error on this thread's queue as text (and clears the queue). */
static inline void COpenSSL_lastError(char *buffer, size_t length) {
    unsigned long code = ERR_get_error();
    if (code == 0) {
        buffer[0] = 0;
    } else {
        ERR_error_string_n(code, buffer, length);
    }
    ERR_clear_error();
}

#endif
