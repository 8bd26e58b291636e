/* SPDX-License-Identifier: MIT */
/* main.c - the tooldag command (placeholder until the commands land). */
#include <stdio.h>

#include "tooldag.h"

int main(void)
{
	printf("tooldag %s\n", td_version());
	return 0;
}
