#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

/* Macros Swift cannot call, as functions. */

static inline int COpenSSL_setMinimumTLS12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

static inline void COpenSSL_hardenOptions(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
}

/* A BIO between OpenSSL and the connection's byte buffers that copies each ciphertext byte once.
 * (BIO_s_mem zero-fills every byte it stores, then copies it in and out again.)
 * Input: the caller lends the ciphertext just received (`input`, `inputLength`) for the duration of its
 * SSL_* calls; reads take from it and report "retry" once it is used up (OpenSSL keeps partial records in
 * its own buffer). Output: writes append to `output` (malloc'ed, grows, kept between flushes); the caller
 * takes the bytes out and resets `outputLength`. One state per connection, owned by the BIO. */
typedef struct {
    const unsigned char *input;
    size_t inputLength;
    unsigned char *output;
    size_t outputLength;
    size_t outputCapacity;
} COpenSSL_StreamState;

static inline int COpenSSL_streamWrite(BIO *bio, const char *data, int length) {
    COpenSSL_StreamState *state = (COpenSSL_StreamState *)BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (state == NULL || length < 0) return -1;
    size_t needed = state->outputLength + (size_t)length;
    if (needed > state->outputCapacity) {
        size_t capacity = state->outputCapacity < 16384 ? 16384 : state->outputCapacity;
        while (capacity < needed) capacity *= 2;
        unsigned char *grown = (unsigned char *)realloc(state->output, capacity);
        if (grown == NULL) return -1;
        state->output = grown;
        state->outputCapacity = capacity;
    }
    memcpy(state->output + state->outputLength, data, (size_t)length);
    state->outputLength = needed;
    return length;
}

static inline int COpenSSL_streamRead(BIO *bio, char *data, int length) {
    COpenSSL_StreamState *state = (COpenSSL_StreamState *)BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (state == NULL || length < 0) return -1;
    if (state->inputLength == 0) {
        BIO_set_retry_read(bio);
        return -1;
    }
    size_t count = (size_t)length < state->inputLength ? (size_t)length : state->inputLength;
    memcpy(data, state->input, count);
    state->input += count;
    state->inputLength -= count;
    return (int)count;
}

static inline long COpenSSL_streamControl(BIO *bio, int command, long number, void *pointer) {
    (void)number;
    (void)pointer;
    COpenSSL_StreamState *state = (COpenSSL_StreamState *)BIO_get_data(bio);
    switch (command) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: return state == NULL ? 0 : (long)state->inputLength;
    case BIO_CTRL_WPENDING: return state == NULL ? 0 : (long)state->outputLength;
    default: return 0;  /* everything else (KTLS, datagram, EOF queries) is unsupported */
    }
}

static inline int COpenSSL_streamCreate(BIO *bio) {
    COpenSSL_StreamState *state = (COpenSSL_StreamState *)calloc(1, sizeof(COpenSSL_StreamState));
    if (state == NULL) return 0;
    BIO_set_data(bio, state);
    BIO_set_init(bio, 1);
    return 1;
}

static inline int COpenSSL_streamDestroy(BIO *bio) {
    COpenSSL_StreamState *state = (COpenSSL_StreamState *)BIO_get_data(bio);
    if (state != NULL) {
        free(state->output);
        free(state);
    }
    BIO_set_data(bio, NULL);
    BIO_set_init(bio, 0);
    return 1;
}

/* The method table, made once per TLSContext; NULL on allocation failure. Free with BIO_meth_free. */
static inline BIO_METHOD *COpenSSL_newStreamMethod(void) {
    int type = BIO_get_new_index();
    if (type == -1) return NULL;
    BIO_METHOD *method = BIO_meth_new(type | BIO_TYPE_SOURCE_SINK, "fraud-tls-stream");
    if (method == NULL) return NULL;
    if (!BIO_meth_set_write(method, COpenSSL_streamWrite) || !BIO_meth_set_read(method, COpenSSL_streamRead)
        || !BIO_meth_set_ctrl(method, COpenSSL_streamControl) || !BIO_meth_set_create(method, COpenSSL_streamCreate)
        || !BIO_meth_set_destroy(method, COpenSSL_streamDestroy)) {
        BIO_meth_free(method);
        return NULL;
    }
    return method;
}

/* The state of a BIO made from COpenSSL_newStreamMethod(). */
static inline COpenSSL_StreamState *COpenSSL_streamState(BIO *bio) {
    return (COpenSSL_StreamState *)BIO_get_data(bio);
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

/* Client side: SNI (a macro over SSL_ctrl). Only for host names, never for IP literals (RFC 6066 §3). */
static inline int COpenSSL_setServerName(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
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
