param m, b
let r = m*x
let r = r + b
model y = r
loss mean((y - Y)^2)
