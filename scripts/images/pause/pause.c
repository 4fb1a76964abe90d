/*
 * The sandbox node's pause image: the process that holds a pod's namespaces.
 * It sleeps until SIGTERM or SIGINT and, as PID 1 of a pod that shares its
 * process namespace, reaps orphaned children so none stays a zombie.
 * Built static (scripts/build-images.sh), so the image holds this file only.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts("pause (store-weaver sandbox) 1.0");
    return 0;
  }
  if (getpid() != 1) {
    fputs("pause: warning: not PID 1 of its namespace\n", stderr);
  }
  struct sigaction stop = {0};
  stop.sa_handler = on_stop;
  if (sigaction(SIGINT, &stop, NULL) != 0 || sigaction(SIGTERM, &stop, NULL) != 0) {
    perror("pause: sigaction");
    return 1;
  }
  struct sigaction child = {0};
  child.sa_handler = on_child;
  child.sa_flags = SA_NOCLDSTOP;
  if (sigaction(SIGCHLD, &child, NULL) != 0) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) {
    pause();
  }
}
