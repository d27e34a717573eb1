// Local chain node only: contracts are compiled with Vyper from PyPI, never by hardhat.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      // Automine on; tests that need pending transactions switch it off over RPC.
      mining: {
        auto: true,
        // make dev also mines on an interval so payouts reach their confirmation depth.
        interval: Number(process.env.SETTLEKIT_MINING_INTERVAL_MS || 0),
      },
    },
  },
};
