// oshin-server: wires the configuration to the server. Everything else lives in the libraries.
#include <csignal>
#include <iostream>

#include "oshin/app/server_main.hpp"
#include "oshin/http/config.hpp"

int main(int argc, char** argv) {
  // A log reader that goes away (stdout is a pipe) must not kill the server: writes to it then
  // fail with EPIPE instead of raising SIGPIPE. Sockets never raise it (Asio sends with
  // MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  std::string error;
  auto cmd = oshin::http::parse_command_line(argc, argv, &error);
  if (!cmd) {
    std::cerr << "oshin-server: " << error << "\n" << oshin::http::usage();
    return 2;
  }
  if (cmd->help) {
    std::cout << oshin::http::usage();
    return 0;
  }
  auto config = oshin::http::load_config(*cmd, &error);
  if (!config) {
    std::cerr << "oshin-server: " << error << "\n";
    return 2;
  }
  return oshin::app::run_server(*config, cmd->demo, std::cout, std::cerr, cmd->clock_start);
}
