data x, Y
model y = 2*x
loss mean((y - Y)^2)
