/* SPDX-License-Identifier: MIT */
/*
 * stream.h - a streamed response read by a run while it arrives (internal): the run takes
 * each call as soon as it is whole, in block order, decoded exactly as td_stream_finish()
 * will decode it in the whole batch.
 */
#ifndef TD_STREAM_H
#define TD_STREAM_H

#include "calls/batch.h"

/*
 * Appends the stream's next call to `into` (a batch of the same graph, in the stream's
 * dialect) when it is whole and every call before it (block order) was taken already: 1 when
 * one was appended, 0 when none is ready (or the stream can no longer be taken from: an
 * error, a call that would make the whole batch invalid), TD_ENOMEM. A call is whole at its
 * block's end (Anthropic content_block_stop, Responses output_item.done); Chat Completions
 * mark no call's end, so there a call is whole once the next call has begun and its
 * arguments are a complete JSON object, or at finish_reason.
 */
int td__stream_take(struct td_stream *s, struct td_batch *into);
/* The dialect the stream turned out to be in (AUTO until its first call event). */
enum td_dialect td__stream_dialect(const struct td_stream *s);

#endif /* TD_STREAM_H */
