model y = m*r
let r = x + b
loss mean((y - Y)^2)
