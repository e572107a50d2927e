let greeting = "Hi";
export function init(args) { greeting = args.greeting; }
export function receive(msg) { return `${greeting}, ${msg.name}!`; }
