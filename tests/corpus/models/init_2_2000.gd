param a = 2^2000, b
data x, Y
model y = a*x + b
loss mean((y - Y)^2)
