#ifndef LIGHTSPEECH_TRAIN_TESTING_FREE_PORT_H_
#define LIGHTSPEECH_TRAIN_TESTING_FREE_PORT_H_

// A loopback TCP port that was free a moment ago (bound to port 0 and released), for tests that
// start a distributed rendezvous.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lightspeech::train::testing {

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace lightspeech::train::testing

#endif  // LIGHTSPEECH_TRAIN_TESTING_FREE_PORT_H_
