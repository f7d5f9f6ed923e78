param k = 0.5 in [1, 0]
data x, Y
model y = k*x
loss mean((y - Y)^2)
