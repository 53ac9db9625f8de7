using System.Diagnostics;

namespace MonkeyCoder.LoadTests.Hosts;

/// <summary>
/// The throwaway PostgreSQL of <c>scripts/services.sh</c> (its <c>MONKEY_TEST_*</c> variables),
/// stopped and started with <c>pg_ctl</c> to put a real outage under load. Null when the variables
/// are not set: scenarios that need it then report "not measured".
/// </summary>
public sealed class PostgresControl
{
    private PostgresControl(string databaseUrl, string bin, string data, string port)
    {
        DatabaseUrl = databaseUrl;
        _bin = bin;
        _data = data;
        _port = port;
    }

    private readonly string _bin;
    private readonly string _data;
    private readonly string _port;

    public string DatabaseUrl { get; }

    public static PostgresControl? FromEnvironment()
    {
        var url = Environment.GetEnvironmentVariable("MONKEY_TEST_DATABASE_URL");
        var bin = Environment.GetEnvironmentVariable("MONKEY_TEST_PG_BIN");
        var data = Environment.GetEnvironmentVariable("MONKEY_TEST_PG_DATA");
        var port = Environment.GetEnvironmentVariable("MONKEY_TEST_PG_PORT");
        return string.IsNullOrEmpty(url) || string.IsNullOrEmpty(bin) || string.IsNullOrEmpty(data) || string.IsNullOrEmpty(port)
            ? null
            : new PostgresControl(url, bin, data, port);
    }

    /// <summary>Fast shutdown: open connections are cut, as in a crash or a failover.</summary>
    public Task StopAsync() => PgCtlAsync("-m", "fast", "stop");

    public Task StartAsync()
    {
        var socketDir = Path.GetDirectoryName(_data)!;
        return PgCtlAsync("-l", Path.Combine(socketDir, "pg.log"),
            "-o", $"-p {_port} -k {socketDir} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off", "start");
    }

    /// <summary>Runs one query with psql; the rows as lines, columns separated by '|'.</summary>
    public async Task<IReadOnlyList<string>> QueryAsync(string sql)
    {
        var info = new ProcessStartInfo(Path.Combine(_bin, "psql")) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { DatabaseUrl, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql })
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return process.ExitCode == 0
            ? (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            : throw new InvalidOperationException($"psql failed ({process.ExitCode}): {error}");
    }

    /// <summary>pg_ctl refuses to run as root: as root it runs as the postgres user, as services.sh does.</summary>
    private async Task PgCtlAsync(params string[] args)
    {
        var pgCtl = Path.Combine(_bin, "pg_ctl");
        var root = Environment.UserName == "root";
        var info = new ProcessStartInfo(root ? "runuser" : pgCtl) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (root ? new[] { "-u", "postgres", "--", pgCtl } : []).Concat(["-D", _data, "-w", "-t", "30"]).Concat(args))
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"pg_ctl {string.Join(' ', args)} failed ({process.ExitCode}): {output}");
        }
    }
}
