// A test wallet injected before any page script: an EIP-1193 provider announced by EIP-6963,
// whose requests go to the test through an exposed binding (like an extension's background).
(() => {
  const handlers = {};
  const provider = {
    isSettlekitTestWallet: true,
    async request({ method, params }) {
      const res = await window.__testWalletRpc(method, params || []);
      if (res.error) {
        const err = new Error(res.error.message);
        err.code = res.error.code;
        throw err;
      }
      return res.result;
    },
    on(event, fn) { (handlers[event] = handlers[event] || []).push(fn); },
    removeListener(event, fn) { handlers[event] = (handlers[event] || []).filter((f) => f !== fn); },
  };
  const info = Object.freeze({
    uuid: "6f2a3c1e-0b7d-4c8e-9a51-5e3d2f1b7a90",
    name: "Test Wallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E",
    rdns: "org.settlekit.testwallet",
  });
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  window.ethereum = provider;
  announce();
})();
