using System.Diagnostics;
using System.Text.Json;

namespace MonkeyCoder.Core.Usage;

/// <summary>One spill file: whose database it is for (null when unlabelled: written before labels existed) and how big.</summary>
internal sealed record UsageSpillFile(string Path, string? Tag, int? ProcessId, long Bytes, DateTimeOffset LastWrite, bool Replaying)
{
    public string Name => System.IO.Path.GetFileName(Path);
}

/// <summary>The first line of a spill file: which database its events are for.</summary>
internal sealed record UsageSpillHeader(int MonkeyCoderSpill, string SystemIdentifier, string Database);

/// <summary>
/// The folder where usage events wait out a database outage. Every file is labelled with the
/// database it is for (<see cref="UsageStoreIdentity"/>), in its name (<c>spill-{tag}-{pid}-{id}.jsonl</c>)
/// and in a header line, so processes of different databases may share a folder: each replays only
/// its own database's files. A file being replayed is renamed to <c>….{pid}.replaying</c> first
/// (atomic), so two processes of one database never replay the same file. Files named <c>usage-*.jsonl</c>
/// were written before labels and are replayed only on an operator's word
/// (<c>monkey-coder-service usage spill replay --include-unlabelled</c>).
/// </summary>
internal sealed class UsageSpillFolder(string directory)
{
    private const string ReplayingSuffix = ".replaying";

    /// <summary>A file of another live process is replayed only after it has been idle this long. Defaults to 30 s.</summary>
    internal static readonly TimeSpan IdleBeforeAdoption = TimeSpan.FromSeconds(30);

    public string Directory { get; } = directory;

    /// <summary>The default folder: per user under the temp folder, since a fixed name there is shared by every process on the machine.</summary>
    public static string DefaultPath() =>
        System.IO.Path.Combine(System.IO.Path.GetTempPath(), "monkey-coder-usage-spill-" + SafeName(Environment.UserName));

    /// <summary>A new file name for this process's events for <paramref name="identity"/>.</summary>
    public string NewFileFor(UsageStoreIdentity identity) =>
        System.IO.Path.Combine(Directory, $"spill-{identity.Tag}-{Environment.ProcessId}-{Guid.NewGuid():N}.jsonl");

    /// <summary>Appends events (fsync'd: they must survive a crash); a new labelled file starts with its header line.</summary>
    public void Append(string file, UsageStoreIdentity? identity, IReadOnlyList<UsageEvent> events)
    {
        CreateDirectory();
        using var lines = new MemoryStream();
        using var stream = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
        var start = stream.Length;
        if (start == 0 && identity is not null)
        {
            JsonSerializer.Serialize(lines, new UsageSpillHeader(1, identity.SystemIdentifier, identity.Database), UsageJsonContext.Default.UsageSpillHeader);
            lines.WriteByte((byte)'\n');
        }

        foreach (var e in events)
        {
            JsonSerializer.Serialize(lines, e, UsageJsonContext.Default.UsageEvent);
            lines.WriteByte((byte)'\n');
        }

        // Unbuffered, one write: a failed write (disk full) is cut back to where it began, so a
        // later append never joins a torn line and no event is half on disk.
        try
        {
            stream.Write(lines.GetBuffer().AsSpan(0, (int)lines.Length));
            stream.Flush(flushToDisk: true);
        }
        catch (IOException)
        {
            try
            {
                stream.SetLength(start);
            }
            catch (IOException)
            {
                // Replay skips a torn line; nothing more to do here.
            }

            throw;
        }
    }

    /// <summary>Every spill file in the folder, labelled or not, claimed or not, oldest name first.</summary>
    public IReadOnlyList<UsageSpillFile> List()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        var files = new List<UsageSpillFile>();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            if (Parse(path) is { } file)
            {
                files.Add(file);
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return files;
    }

    /// <summary>
    /// Whether this process may replay <paramref name="file"/> now: a file of this process, or of one
    /// no longer running, at once; a file another running process may still be appending to, only
    /// once it has been idle for <see cref="IdleBeforeAdoption"/>; a file another running process is
    /// replaying, never (it deletes it when done).
    /// </summary>
    public static bool MayAdopt(UsageSpillFile file, DateTimeOffset now) =>
        file.ProcessId is not { } pid || pid == Environment.ProcessId || !IsRunning(pid)
        || (!file.Replaying && now - file.LastWrite >= IdleBeforeAdoption);

    /// <summary>Renames the file for replay; null when another process took it first.</summary>
    public static string? Claim(UsageSpillFile file)
    {
        if (file.Replaying && file.ProcessId == Environment.ProcessId)
        {
            return file.Path;
        }

        var unclaimed = file.Path;
        if (file.Replaying)
        {
            // Left by a claimer that is gone: take it over under this process's id.
            unclaimed = unclaimed[..^ReplayingSuffix.Length];
            if (file.ProcessId is not null)
            {
                unclaimed = unclaimed[..^System.IO.Path.GetExtension(unclaimed).Length];
            }
        }

        var claimed = $"{unclaimed}.{Environment.ProcessId}{ReplayingSuffix}";
        try
        {
            File.Move(file.Path, claimed);
            return claimed;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The database a file is for, from its header line; null for an unlabelled (or unreadable) file.</summary>
    public static UsageStoreIdentity? ReadIdentity(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            return reader.ReadLine() is { } line && ParseHeader(line) is { } header
                ? new UsageStoreIdentity(header.SystemIdentifier, header.Database)
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The events in a file; a torn last line (a crash mid-write) is skipped, everything before it is intact.</summary>
    public static List<UsageEvent> Read(string path)
    {
        var events = new List<UsageEvent>();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0 || ParseHeader(line) is not null)
            {
                continue;
            }

            try
            {
                if (JsonSerializer.Deserialize(line, UsageJsonContext.Default.UsageEvent) is { } e)
                {
                    events.Add(e);
                }
            }
            catch (JsonException)
            {
                // Torn line: see above.
            }
        }

        return events;
    }

    private void CreateDirectory()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            if (OperatingSystem.IsWindows())
            {
                System.IO.Directory.CreateDirectory(Directory);
            }
            else
            {
                // Owner only: the events name principals and models.
                System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }

    private static UsageSpillHeader? ParseHeader(string line)
    {
        if (!line.StartsWith("{\"monkeyCoderSpill\":", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(line, UsageJsonContext.Default.UsageSpillHeader);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static UsageSpillFile? Parse(string path)
    {
        var name = System.IO.Path.GetFileName(path);
        var replaying = name.EndsWith(ReplayingSuffix, StringComparison.Ordinal);
        var stem = replaying ? name[..^ReplayingSuffix.Length] : name;
        int? claimer = null;
        if (replaying && System.IO.Path.GetExtension(stem) is { Length: > 1 } pidExtension
            && int.TryParse(pidExtension.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture, out var claimedBy))
        {
            claimer = claimedBy;
            stem = stem[..^pidExtension.Length];
        }

        if (!stem.EndsWith(".jsonl", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = stem[..^".jsonl".Length].Split('-');
        string? tag;
        string writerPart;
        if (parts is ["spill", var t, var p, _])
        {
            (tag, writerPart) = (t, p);
        }
        else if (parts is ["usage", var p2, _])
        {
            (tag, writerPart) = (null, p2);
        }
        else
        {
            return null;
        }

        // The process that may still touch the file: its claimer while replayed, else its writer.
        var owner = replaying ? claimer
            : int.TryParse(writerPart, System.Globalization.CultureInfo.InvariantCulture, out var writer) ? writer : null;
        try
        {
            var info = new FileInfo(path);
            return new UsageSpillFile(path, tag, owner, info.Length, info.LastWriteTimeUtc, replaying);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string SafeName(string user)
    {
        var chars = user.Where(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.').ToArray();
        return chars.Length == 0 ? "user" : new string(chars);
    }
}
