using MonkeyCoder.Core.Limits;

namespace MonkeyCoder.Tests.Limits;

public sealed class OutageBudgetTests
{
    private static readonly LimitRequest Ask = new("key:k1", "/monkeycoder.v1.RouterService/Execute", "u1", "k1", 600, 1_000_000, 100, null, 10_000);

    /// <summary>Redis granted a hold of 100 with 1,000 left before it: 900 remain at the last sync.</summary>
    private static OutageBudget SyncedWith900Left(int replicas)
    {
        var outage = new OutageBudget { Replicas = replicas };
        outage.Synced(Ask, new SpendReservation("h0", 100, true, null, 1_000) { UserRemainingMicros = 1_000 });
        return outage;
    }

    [Fact]
    public void Reserve_RedisDownThreeReplicas_AdmitsOnlyAThirdOfWhatWasLeft()
    {
        var outage = SyncedWith900Left(replicas: 3);

        var admitted = Enumerable.Range(0, 10).Select(_ => outage.Reserve(Ask, 100)).TakeWhile(h => h.Admitted).Count();

        Assert.Equal(3, admitted); // 900 / 3 = 300 = three holds of 100
        var refused = outage.Reserve(Ask, 100);
        Assert.False(refused.Admitted);
        Assert.Equal("user", refused.Scope);
        Assert.True(refused.Fallback);
    }

    [Fact]
    public void Reserve_BudgetThisReplicaNeverSynced_RefusedRatherThanGuessed()
    {
        var outage = new OutageBudget { Replicas = 1 };

        Assert.False(outage.Reserve(Ask, 1).Admitted);
    }

    [Fact]
    public void Reserve_CallWithoutBudget_AdmittedDuringOutage()
    {
        var outage = new OutageBudget();

        Assert.True(outage.Reserve(Ask with { UserBudgetMicros = null }, 1_000_000).Admitted);
    }

    [Fact]
    public void Settle_CheaperThanItsHold_FreesTheRestOfTheShareAndKeepsTheSpendForRedis()
    {
        var outage = SyncedWith900Left(replicas: 1);
        var holds = Enumerable.Range(0, 9).Select(_ => outage.Reserve(Ask, 100)).ToList();
        Assert.All(holds, h => Assert.True(h.Admitted));
        Assert.False(outage.Reserve(Ask, 100).Admitted);

        outage.Settle(Ask, holds[0], costMicros: 40);

        Assert.False(outage.Reserve(Ask, 100).Admitted); // 60 freed: not enough for another 100
        Assert.True(outage.Reserve(Ask, 60).Admitted);
        var unsynced = Assert.Single(outage.TakeUnsynced());
        Assert.Equal(40, unsynced.CostMicros);
        Assert.Null(unsynced.Hold); // an outage hold never reached Redis
    }

    [Fact]
    public void TakeUnsynced_RedisBack_SharesStartOverFromTheNextSync()
    {
        var outage = SyncedWith900Left(replicas: 1);
        for (var i = 0; i < 9; i++)
        {
            outage.Settle(Ask, outage.Reserve(Ask, 100), costMicros: 100);
        }

        Assert.Equal(9, outage.TakeUnsynced().Count);
        Assert.Empty(outage.TakeUnsynced());
        outage.Synced(Ask, new SpendReservation("h1", 50, true, null, 150) { UserRemainingMicros = 150 });
        Assert.True(outage.Reserve(Ask, 100).Admitted);
        Assert.False(outage.Reserve(Ask, 1).Admitted);
    }
}
