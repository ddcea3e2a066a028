/* agentfense.c — the command-line tool's entry point: global options and
 * dispatch to one verb per file (cli-*.c).
 *
 *   agentfense [--endpoint ADDRESS] [--json] VERB [ARGS...]
 *
 * Must never: implement a verb here, or reach below libagentfense for
 * anything the library offers. */
#include "cli.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static const struct {
  const char *name;
  CliVerbFunc func;
  const char *summary;
} verbs[] = {
  { "codebase", cli_codebase, "Create, list, upload to, download from and remove codebases" },
  { "policy", cli_policy, "Explain which permission a path gets under a rule file" },
  { "presets", cli_presets, "List and show the built-in permission presets" },
  { "run", cli_run, "Upload a directory, run one command in a new sandbox, remove it" },
  { "sandbox", cli_sandbox, "Create, list, start, stop, exec in and remove sandboxes" },
  { "shell", cli_shell, "An interactive session in a new sandbox over a directory" },
};

static void
print_help (FILE *out)
{
  fprintf (out, "Usage: agentfense [--endpoint ADDRESS] [--secure] [--json] COMMAND [ARGS...]\n\n"
                "Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (verbs); i++)
    fprintf (out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
  fprintf (out, "\nGlobal options:\n"
                "  --endpoint ADDRESS  Server address (unix:/path or host:port); default:\n"
                "                      $AGENTFENSE_ENDPOINT, the local server's socket, or\n"
                "                      localhost:9000\n"
                "  --secure            Connect with TLS (TCP endpoints); trusts the system's\n"
                "                      CAs, or $AGENTFENSE_CA_FILE\n"
                "  --ca-file FILE      Trust the CA certificates in FILE (PEM; implies --secure)\n"
                "  --cert FILE         Client certificate (PEM) for servers requiring one\n"
                "  --key FILE          Private key of --cert (PEM)\n"
                "  --json              Print JSON for scripts\n"
                "  --version           Print the version and exit\n"
                "  -h, --help          Print this help and exit\n\n"
                "Run 'agentfense COMMAND --help' for the options of a command.\n");
}

int
main (int argc, char **argv)
{
  CliContext cli = { .prog = "agentfense" };

  setlocale (LC_ALL, "");
  g_set_prgname ("agentfense");

  /* Global options may precede the verb; the verb's own parser accepts them
   * too, so they are left in argv for it. */
  int verb_index = -1;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0) {
      print_help (stdout);
      return CLI_EXIT_OK;
    }
    if (strcmp (arg, "--version") == 0) {
      g_print ("agentfense %s (libagentfense %s)\n", AF_SDK_VERSION_STRING, af_sdk_get_version ());
      return CLI_EXIT_OK;
    }
    if (strcmp (arg, "--") == 0)
      break;
    /* Global options with a value: skip the value too. */
    if (strcmp (arg, "--endpoint") == 0 || strcmp (arg, "--ca-file") == 0 ||
        strcmp (arg, "--cert") == 0 || strcmp (arg, "--key") == 0) {
      i++;
      continue;
    }
    if (strcmp (arg, "--json") == 0 || strcmp (arg, "--secure") == 0 ||
        g_str_has_prefix (arg, "--endpoint=") || g_str_has_prefix (arg, "--ca-file=") ||
        g_str_has_prefix (arg, "--cert=") || g_str_has_prefix (arg, "--key="))
      continue;
    if (arg[0] == '-') {
      g_printerr ("agentfense: unknown option %s\nTry 'agentfense --help'.\n", arg);
      return CLI_EXIT_USAGE;
    }
    verb_index = i;
    break;
  }
  if (verb_index < 0) {
    print_help (stderr);
    return CLI_EXIT_USAGE;
  }

  for (gsize v = 0; v < G_N_ELEMENTS (verbs); v++) {
    if (strcmp (argv[verb_index], verbs[v].name) != 0)
      continue;
    /* Hand the verb an argv with the verb first and every other argument
     * (global options included) after it. */
    g_autoptr (GPtrArray) args = g_ptr_array_new ();
    g_ptr_array_add (args, argv[verb_index]);
    for (int i = 1; i < argc; i++)
      if (i != verb_index)
        g_ptr_array_add (args, argv[i]);
    g_ptr_array_add (args, NULL);
    int status = verbs[v].func (&cli, (int)args->len - 1, (char **)args->pdata);
    g_free (cli.endpoint);
    g_free (cli.ca_file);
    g_free (cli.cert_file);
    g_free (cli.key_file);
    return status;
  }
  g_printerr ("agentfense: unknown command '%s'\nTry 'agentfense --help'.\n", argv[verb_index]);
  return CLI_EXIT_USAGE;
}
