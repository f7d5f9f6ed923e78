param m
let model = m*x
model y = model
loss mean((y - Y)^2)
