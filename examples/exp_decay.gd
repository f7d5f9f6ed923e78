# Exponential decay towards a floor: amount a above the floor c at time t = 0, rate k.
model y = a*exp(-k*t) + c
loss mean((y - Y)^2)
