#!/usr/bin/perl
# Plays systemd's part for the restart tests (deploy/systemd/image-classifier.socket): holds a
# listening socket on 127.0.0.1 and starts the command given as arguments with it as fd 3,
# LISTEN_FDS=1 and LISTEN_PID = the child's pid. Perl (not node): a node process would accept
# the connections itself; this one never accepts, so they wait in the kernel's queue while no
# service process runs. Commands on stdin, one per line: "start" → "started <pid>",
# "stop" → SIGTERM, wait → "stopped <exit code>". EOF on stdin: stop and exit.
use strict;
use warnings;
use IO::Socket::INET;
use Fcntl qw(F_SETFD);
use POSIX qw(dup2 _exit);

$| = 1;
my $listener = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 511, ReuseAddr => 1, Proto => 'tcp')
  or die "listen: $!";
print 'port ', $listener->sockport, "\n";
my $child = 0;

sub stop_child {
  return 'none' unless $child;
  kill 'TERM', $child;
  waitpid($child, 0);
  $child = 0;
  return $? & 127 ? 'signal ' . ($? & 127) : $? >> 8;
}

while (my $line = <STDIN>) {
  chomp $line;
  if ($line eq 'start') {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
      dup2(fileno($listener), 3) or _exit(111) unless fileno($listener) == 3;
      open(my $fd3, '+<&=', 3) or _exit(113);
      fcntl($fd3, F_SETFD, 0) or _exit(114);    # keep fd 3 across exec (perl marks it close-on-exec)
      open(STDIN, '<', '/dev/null');
      $ENV{LISTEN_FDS} = '1';
      $ENV{LISTEN_PID} = "$$";
      exec @ARGV or _exit(112);
    }
    $child = $pid;
    print "started $pid\n";
  } elsif ($line eq 'stop') {
    print 'stopped ', stop_child(), "\n";
  }
}
stop_child();
