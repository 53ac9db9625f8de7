using System.Security.Cryptography;
using System.Text;

namespace MonkeyCoder.Core.Usage;

/// <summary>
/// The database a usage store writes to, as the database itself reports it: PostgreSQL's
/// <c>system_identifier</c> (the cluster, fixed at initdb) and the database name. The same database
/// reached through two URLs (another host name, a pooler, another user) is one identity; no
/// password or URL is part of it. Spill files carry it so that a process replays only events meant
/// for its own database.
/// </summary>
internal sealed record UsageStoreIdentity(string SystemIdentifier, string Database)
{
    /// <summary>16 hex characters of SHA-256 over both parts: the tag in a spill file's name.</summary>
    public string Tag { get; } = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(SystemIdentifier + "/" + Database)))[..16].ToLowerInvariant();

    public override string ToString() => $"{Database} (cluster {SystemIdentifier})";
}
