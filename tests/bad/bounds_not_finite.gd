param k = 1 in [0, 1/0]
data x, Y
model y = k*x
loss mean((y - Y)^2)
