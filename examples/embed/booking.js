let capacity = 0;
let booked = 0;

export function init(args, ctx) {
  capacity = args.capacity;
}

export function receive(msg, ctx) {
  if (msg.type !== "book") throw new Error(`unknown request ${msg.type}`);
  if (booked + msg.seats > capacity) throw new Error(`sold out: ${capacity - booked} left`);
  booked += msg.seats;
  ctx.env.audit.send({user: msg.user, seats: msg.seats, total: booked});
  return {ok: true, total: booked};
}
