// The `tern` command line: one entry point per subcommand. Each parses its own arguments (the
// pub/sub options follow mosquitto_pub/mosquitto_sub, whose -h is the host, not help) and
// returns the process exit code. argv[0] is "tern <command>".
#pragma once

namespace tern::cli {

int pub_main(int argc, char** argv);
int sub_main(int argc, char** argv);
int decode_main(int argc, char** argv);
int bench_main(int argc, char** argv);

}  // namespace tern::cli
