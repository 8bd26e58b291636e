/* SPDX-License-Identifier: MIT */
/*
 * backend.c - helpers of the backend interface shared by every backend.
 */
#include <string.h>

#include "run/backend.h"

int td__job_set_content(struct td__job *job, enum td_status status, const char *s, size_t len)
{
	td__free(job->content);
	job->status = status;
	job->content = td__malloc(len + 1);
	job->content_len = 0;
	if (!job->content)
		return TD_ENOMEM;
	memcpy(job->content, s, len);
	job->content[len] = '\0';
	job->content_len = len;
	return 0;
}
