/* SPDX-License-Identifier: MIT */
/*
 * cmds.h - the subcommands main.c dispatches to. Each takes its own argv (argv[0] is the
 * subcommand's name) and returns the exit code. Nothing but main.c calls them.
 */
#ifndef TD_BENCH_CMDS_H
#define TD_BENCH_CMDS_H

/* level.c */
int cmd_level(int argc, char **argv);
int gen_calls(int argc, char **argv);
int gen_tools(int argc, char **argv);

/* gen.c */
int gen_dag(int argc, char **argv);

/* cmd.c */
int cmd_simulate(int argc, char **argv);
int cmd_real(int argc, char **argv);
int cmd_sweep(int argc, char **argv);

/* rank.c */
int cmd_rank(int argc, char **argv);

#endif /* TD_BENCH_CMDS_H */
