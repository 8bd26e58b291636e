/* SPDX-License-Identifier: MIT */
/*
 * http.h - libcurl's multi interface driven by the run's loop (internal), for transfers that
 * are not http: tools' (the MCP Streamable HTTP transport). The same machinery as the http:
 * backend's (http.c): sockets polled on the ring, curl's timer in the loop's deadline heap.
 */
#ifndef TD_HTTP_H
#define TD_HTTP_H

#include "exec/loop.h"

struct td__curl; /* one multi handle on one loop */

/* One transfer: easy is a CURL * its owner set up (URL, headers, body, callbacks); adding it
 * sets CURLOPT_PRIVATE, NOSIGNAL, close-on-exec sockets and the http/https protocols. */
struct td__curl_xfer {
	void *easy;
	/* the transfer ended (curl_code is its CURLcode); it has left the multi handle. Called
	 * outside curl's callbacks, so it may add and remove transfers. */
	void (*done)(struct td__curl_xfer *x, int curl_code);
};

/* max_conns: connections open at once (transfers beyond wait in curl); 0: curl's default. */
int td__curl_new(struct td__loop *loop, long max_conns, struct td__curl **out);
/* 0 or TD_ENOMEM. */
int td__curl_add(struct td__curl *cu, struct td__curl_xfer *x);
/* Takes a transfer out before it ended (done is not called). */
void td__curl_remove(struct td__curl *cu, struct td__curl_xfer *x);
/* Transfers still added must be removed first. */
void td__curl_free(struct td__curl *cu);

#endif /* TD_HTTP_H */
