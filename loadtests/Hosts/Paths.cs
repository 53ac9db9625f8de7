using System.Reflection;

namespace MonkeyCoder.LoadTests.Hosts;

/// <summary>Where the repository and the host binaries are.</summary>
public static class Paths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Configuration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";

    /// <summary>This tool's own dll, to start the echo server as a separate process.</summary>
    public static string SelfDll { get; } = Assembly.GetExecutingAssembly().Location;

    public static string HostDll(string project, string dll)
    {
        var path = Path.Combine(RepoRoot, "src", project, "bin", Configuration, "net10.0", dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build {project} first ({Configuration}): {path} is missing.");
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Grpc.sln")))
            {
                dir = dir.Parent;
            }

            if (dir is not null)
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
