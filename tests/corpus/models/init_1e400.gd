param a = 1e400, b
data x, Y
model y = a*x + b
loss mean((y - Y)^2)
