/* remote_source.h - a remote OpenAI-compatible backend as a stream source (stream/source.h),
 * so stop sequences, events, filters and control work the same for remote models. */
#ifndef LLMR_ROUTER_REMOTE_SOURCE_H
#define LLMR_ROUTER_REMOTE_SOURCE_H

#include "router/remote.h"
#include "stream/source.h"

/* Makes a source sending requests as cfg says (copied). */
int rt_remote_source_new(const llmr_remote_cfg *cfg, llmr_source **out, llmr_err *err);

/* Gives a chat backend's source a whole conversation to send as "messages" (the pointers
 * are borrowed: they must outlive the source's requests). */
int rt_remote_source_set_messages(llmr_source *src, const llmr_chat_msg *msgs, size_t n,
                                  llmr_err *err);

/* Gives a chat backend's source what tool calling sends (see llmr_remote_req; borrowed:
 * they must outlive the source's requests). */
void rt_remote_source_set_tools(llmr_source *src, const char *messages_json,
                                const char *tools_json, const char *tool_choice, bool parallel);

/* The tool calls of the request so far, as llmri_remote_tool_calls gives them. */
char *rt_remote_source_tool_calls(llmr_source *src);

/* Asks a running request of a remote source to stop (any thread). */
void rt_remote_source_cancel(llmr_source *src);

#endif
