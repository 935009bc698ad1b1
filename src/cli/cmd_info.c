/* cmd_info.c - `llmr info` (being written in this commit series). */
#include "cli/cli.h"
int cmd_info(int argc, char **argv) { return cli_fail("info", "not yet built"); }
