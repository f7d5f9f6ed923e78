# Each `let` uses the one before it twice, so written out the expression triples at each
# link (a sum of 3^10 terms): the derivation took minutes, now a limit refuses it.
let a0 = m*x
let a1 = sin(a0) + cos(a0)*a0
let a2 = sin(a1) + cos(a1)*a1
let a3 = sin(a2) + cos(a2)*a2
let a4 = sin(a3) + cos(a3)*a3
let a5 = sin(a4) + cos(a4)*a4
let a6 = sin(a5) + cos(a5)*a5
let a7 = sin(a6) + cos(a6)*a6
let a8 = sin(a7) + cos(a7)*a7
let a9 = sin(a8) + cos(a8)*a8
let a10 = sin(a9) + cos(a9)*a9
model y = a10 + b
loss mean((y - Y)^2)
