#!/usr/bin/perl
# Runs a command and reports the CPU time of its whole process tree.
#
#   perl bench/cpu-time.pl <command> [args...]     (the report goes to file descriptor 3)
#
# The CPU of a process that has ended is added to its parent's "children"
# time when the parent waits for it, so the children's time of this script
# covers every descendant that was waited for. A process whose parent exits
# first (esbuild's service process outlives the Node process that started
# it) would be lost to init; this script makes itself the "child subreaper"
# of the tree (prctl PR_SET_CHILD_SUBREAPER, Linux), so such orphans come to
# it, and it waits for every one before reporting. Perl is in every Debian
# install (perl-base), and `times` needs no module.
use strict;
use warnings;
use Config;
use Fcntl qw(F_SETFD FD_CLOEXEC);
use POSIX ();

# Time::HiRes is in Debian's `perl` package, not in perl-base: without it the
# caller measures wall time itself.
my $now = eval { require Time::HiRes; \&Time::HiRes::time };

my %prctl = (x86_64 => 157, aarch64 => 167, i386 => 172, i686 => 172);
my ($arch) = $Config{archname} =~ /^([^-]+)/;
my $subreaper = 0;
if (exists $prctl{$arch}) {
  $subreaper = syscall($prctl{$arch}, 36, 1, 0, 0, 0) == 0 ? 1 : 0;    # PR_SET_CHILD_SUBREAPER
}
# The report's descriptor is not handed to the command (close-on-exec).
my $report;
if (open($report, '>&=', 3)) { fcntl($report, F_SETFD, FD_CLOEXEC) } else { undef $report }
my $started = $now ? $now->() : 0;
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
  exec { $ARGV[0] } @ARGV or do { print STDERR "cpu-time.pl: cannot run $ARGV[0]: $!\n"; POSIX::_exit(127) };
}
my ($status, $wall);
# Orphans still running 60 s after the command ended are not waited for (their time is then missing).
eval {
  local $SIG{ALRM} = sub { die "orphans\n" };
  while (1) {
    my $w = waitpid(-1, 0);
    last if $w <= 0;
    if ($w == $pid) {
      $status = $?;
      $wall = $now ? $now->() - $started : undef;
      alarm 60;
    }
  }
  alarm 0;
};
my (undef, undef, $cuser, $csys) = times;
my $code = !defined $status ? 1 : ($status & 127) ? 128 + ($status & 127) : $status >> 8;
if ($report) {
  printf $report "{\"wall\":%s,\"user\":%.3f,\"system\":%.3f,\"subreaper\":%s,\"code\":%d}\n", defined $wall ? sprintf('%.6f', $wall) : 'null', $cuser, $csys, $subreaper ? 'true' : 'false', $code;
  close $report;
}
exit $code;
