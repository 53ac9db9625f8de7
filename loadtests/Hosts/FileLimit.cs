using System.Runtime.InteropServices;

namespace MonkeyCoder.LoadTests.Hosts;

/// <summary>
/// Raises this process's open-file limit (RLIMIT_NOFILE) to its hard limit; the hosts it starts
/// inherit it. 10,000 streams share ~100 HTTP/2 connections, but REST load holds one socket per
/// concurrent call and a 1,024 soft limit is common.
/// </summary>
public static partial class FileLimit
{
    private const int RlimitNofile = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    public static (ulong Before, ulong After)? RaiseToHard()
    {
        if (!OperatingSystem.IsLinux() || getrlimit(RlimitNofile, out var limit) != 0)
        {
            return null;
        }

        var before = limit.Current;
        if (limit.Current < limit.Max)
        {
            limit.Current = limit.Max;
            _ = setrlimit(RlimitNofile, ref limit);
            _ = getrlimit(RlimitNofile, out limit);
        }

        return (before, limit.Current);
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setrlimit(int resource, ref RLimit limit);
}
